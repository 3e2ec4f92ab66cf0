"""The answer pipeline, in the order a question travels through it.

1. ``retrieval``  dense (FAISS/pgvector) + lexical (BM25) search, fused, near-duplicates dropped
2. ``followup``   a follow-up question borrows the previous turn's topic when it needs it
3. ``evidence``   scores each retrieved sentence; the two gates (``evidence_model.json``) decide found or not
4. ``compose``    the quoted answer: the fact first, followers, lists, one source line
5. ``summary``    the extractive summary line
6. ``generate``   optional: a language model (``llm``, ``prompts``) writes the answer from the quotes,
   checked sentence by sentence by ``verify`` (support) and ``polarity`` (meaning)
   ``breaker``: after repeated failures (a timeout at once) questions skip the model for a cool-down
``reader`` is measurement-only (bench/pairwise_reader.py); nothing in the product path uses it.

``assistant.service.Assistant`` strings these together; nothing here imports the service.
"""
