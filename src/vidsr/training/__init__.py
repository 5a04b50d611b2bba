"""Training: ``vidsr train`` and its parts, one concern per module.

* :mod:`.config` - YAML config sections, ``key=value`` overrides, validation;
* :mod:`.data` - clips cached in memory with their BI/BD LR frames, random windows and
  crops, the step-indexed sampler (reproducible, resumable, DDP-sharded);
* :mod:`.losses`, :mod:`.optim`, :mod:`.precision` - Charbonnier/L1/MSE, Adam(W) with
  cosine/step schedules, autocast and the fp16 gradient scaler;
* :mod:`.validation` - whole held-out clips through the streaming path, PSNR/SSIM on Y;
* :mod:`.checkpoint`, :mod:`.distributed`, :mod:`.environment`, :mod:`.logbook` - atomic
  checkpoints with every RNG state, torchrun/DDP, run provenance, ``metrics.jsonl``;
* :mod:`.trainer` - the loop; :mod:`.plot` and :mod:`.export` - ``vidsr plot`` and
  ``vidsr export`` (safetensors + model card).
"""
