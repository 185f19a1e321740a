"""Build a chat prompt with langchain-core (no model call)."""

from langchain_core.prompts import ChatPromptTemplate

prompt = ChatPromptTemplate.from_messages(
    [("system", "You summarise support tickets."), ("human", "{ticket}")]
)


def lambda_handler(event, context):
    return {"messages": [m.content for m in prompt.invoke({"ticket": event["ticket"]}).messages]}
