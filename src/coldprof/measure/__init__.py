"""Cold starts → importtime trees → what each dependency and each line of init costs."""
