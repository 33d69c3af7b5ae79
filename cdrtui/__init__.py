"""cdrtui: browse call detail records from VoIP providers in the terminal."""

__version__ = "0.1.0"
