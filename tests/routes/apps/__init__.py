"""Apps for ``httpconflict routes``: ``*_problems`` have known problems, ``*_clean`` none."""
