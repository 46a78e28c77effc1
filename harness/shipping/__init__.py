"""The shipping stage: from a trained run to a zip the server accepts, on time.

Owns packing the zip (`packing`), the CPU rewrite of slow layers (`optimize`), a model's
TensorFlow Lite twin (`tflite`), the format that a server with an older Keras loads
(`crossversion`), checking a zip on the server's exact runtime (`verify`), the time
forecast against the limit (`timing`), and the sample images these smoke-run on
(`samples`).

Examples:
    >>> from harness.shipping import pack, timecheck
    >>> pack("baseline_cnn", profile, out="dist").zip_path

Every name below is imported on first use, so `import harness.shipping` stays cheap.
"""

import lazy_loader as lazy

__getattr__, __dir__, __all__ = lazy.attach(__name__, submod_attrs={
    "packing": ["pack", "PackResult", "write_zip"],
    "optimize": ["optimize_model", "optimize_file", "OptimizeReport"],
    "tflite": ["convert_file", "ConvertReport"],
    "verify": ["verify_zip", "VerifyResult"],
    "timing": ["timecheck", "TimecheckReport", "TimecheckResult", "measure", "Measurement"],
    "samples": ["sample_images"],
    "crossversion": ["choose_format", "FormatChoice"],
})
