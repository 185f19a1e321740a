"""A Stripe webhook receiver (the signature check needs no network)."""

import os

import stripe

stripe.api_key = os.environ.get("STRIPE_API_KEY", "sk_test_placeholder")


def lambda_handler(event, context):
    try:
        stripe.Webhook.construct_event(
            event.get("body", ""), event.get("signature", ""), os.environ.get("WEBHOOK_SECRET", "")
        )
    except (ValueError, stripe.SignatureVerificationError):
        return {"statusCode": 400}
    return {"statusCode": 200}
