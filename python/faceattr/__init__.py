"""Python sidecar of the face-attribute service: tensors only, spoken to over ZeroMQ.

TypeScript owns configuration, images, the training loop and HTTP; this package owns forward
passes, Grad-CAM, face detection, optimisation steps and checkpoints. The wire contract is
``docs/wire-protocol.md``; ``protocol`` is its one Python implementation.
"""

__version__ = "0.1.0"
