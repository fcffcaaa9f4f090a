"""Training TextNet from the shell or from Python: ``keras-textnet train``.

* :mod:`~keras_textnet.training.config`: the run's settings (presets plus an
  optional YAML file), validated with errors that name the file and the key;
* :mod:`~keras_textnet.training.resumable_dataset`: the input streams keyed on
  their position, so a resumed run reads on from where it stopped;
* :mod:`~keras_textnet.training.checkpoint_manager`: atomic checkpoints (a
  kill at any moment leaves the previous one valid), the last N kept;
* :mod:`~keras_textnet.training.distribution`: ``tf.distribute`` strategies
  (one device, ``mirrored``, ``multi_worker`` from ``TF_CONFIG``);
* :mod:`~keras_textnet.training.trainer`: :class:`Trainer`, which puts them
  together around ``model.fit``.

See ``docs/training.md``.
"""
