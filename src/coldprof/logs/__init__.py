"""`coldprof logs`: cold starts as production saw them, from each function's CloudWatch logs."""
