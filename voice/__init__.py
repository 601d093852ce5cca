"""Voice doors onto the assistant: the Home Assistant (Wyoming) service and offline speech."""
