"""welfare-kg: a linked-data knowledge graph of Polish social-welfare institutions."""

__version__ = "0.1.0"
