"""The scanner bridge: MQTT events from Dash-style devices in, cart changes and acks out."""
