"""The records that flow from measuring to rendering, with their JSON form and schema versions."""
