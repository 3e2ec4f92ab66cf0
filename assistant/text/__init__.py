"""Text analysis: the first stage every question and every passage goes through.

- ``analysis``  words, folding, stop words, stems, language guess
- ``sentences`` splits passages into sentences and units (list items, contents lines, appeals);
  ``SPLITTER_VERSION`` is part of the index format
- ``facts``     which kind of fact a question asks for (a date, an amount, a person...) and whether a
  sentence holds one

Depends on nothing else in ``assistant`` but configuration and messages.
"""
