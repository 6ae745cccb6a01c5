"""The DABS modality (paper Section 5.4): every domain as a sequence of token embeddings."""
