"""The Textual app: screens and widgets over the provider layer."""
