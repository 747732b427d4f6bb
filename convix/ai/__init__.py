"""The AI layer: embeddings, understanding, retrieval helpers, generation. Imports no app."""
