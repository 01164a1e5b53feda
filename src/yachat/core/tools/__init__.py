"""Tools the model may call: their descriptions, where they run, and the loop that runs them."""
