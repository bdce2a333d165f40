"""`make scale`: grow a throwaway database to five years of Anshun's data and time every page.

``scale.grow`` writes the rows (set-based SQL, cloned from the demo's own rows so that every
column the models add later is filled as the demo fills it), ``scale.timing`` serves the
platform with gunicorn and times the pages of issue #14 as four officials, ``scale.run``
puts the two together and writes the report (``.local/scale/report.md``).
"""
