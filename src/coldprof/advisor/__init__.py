"""What init imports that the invocations never ran, where the function imports it, and the fix."""
