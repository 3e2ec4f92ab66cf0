"""Wegwijzer's assistant: cited answers from Flemish integration-policy documents.

Public contract::

    from assistant import Assistant
    a = Assistant.load(index_dir=None)      # the index in WEGWIJZER_DATA_DIR
    ans = a.ask("Wat zijn pleinmakers?", top_k=5)
    ans.found, ans.text, ans.citations      # see assistant.types.Answer / Citation
"""

from assistant.service import Assistant
from assistant.types import Answer, Citation, DocumentInfo, Page, Passage

__all__ = ["Answer", "Assistant", "Citation", "DocumentInfo", "Page", "Passage"]
