"""The language model, free of stores and sources: building it (``build``), its training data
(``data``), the training loop (``train``), bits per character (``evaluate``), sampling
(``generate``) and the measures of generated text (``measures``)."""
