"""On call and reaching people: rotations, channels, messages, acknowledging from a message."""
