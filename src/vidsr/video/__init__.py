"""Video in, video out: ``vidsr upscale``, ``vidsr compare``, ``vidsr demo``.

* :mod:`.reader` - PyAV decoding (or a folder of frames) to uint8 RGB, with checks.
* :mod:`.colour` - YUV <-> RGB with the input's matrix and range, and the tags.
* :mod:`.writer` - encoding with the input's timestamps, colour and rotation; PNG folders.
* :mod:`.remux` - audio and subtitle streams copied (or converted) into the output.
* :mod:`.tiling` - overlapping tiles with one streamer each, for large frames.
* :mod:`.inference` - model loading, (tiled) streamer, the model stage.
* :mod:`.threads` - bounded reader/writer threads around the model.
* :mod:`.safety` - temporary output moved into place only on success.
* :mod:`.pipeline` - :func:`~vidsr.video.pipeline.upscale_video` and ``DEFAULT_MODEL``.
* :mod:`.compare` - comparison videos; :mod:`.demo` - the demo; :mod:`.synthetic` - test videos.
"""
