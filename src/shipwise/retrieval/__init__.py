"""Retrieval: embedders (and, with the RAG arm, the Chroma index)."""
