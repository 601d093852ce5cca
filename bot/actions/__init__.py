"""Custom actions, grouped by what the user wants. Each action is thin: it reads the turn,
calls the store's services (shop.*) and says the result in the channel's form."""
