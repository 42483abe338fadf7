"""What lives on disk: ``db.TaskStore`` (tasks and saved images in SQLite, status changes only
as ``models.TRANSITIONS`` allows, the intent transaction in ``intents``), ``files.ImageSaver``
(verified images and sidecars in the output folder), ``confined.read_confined`` (reading only
what lies inside allowed folders), ``owner`` (which process owns an unanswered create) and
``handles.HandleStore`` (protocol task handles, in the same database)."""
