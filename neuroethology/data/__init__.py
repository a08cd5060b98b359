"""Recordings: tracked and simulated animals as one kind of object.

A Recording is an :class:`xarray.Dataset` in movement's "poses" layout with the singular dim names, time
in seconds and space in metres. The bundled rat (:func:`neuroethology.datasets.sargolini`) prints as::

    <xarray.Dataset> Size: 1MB
    Dimensions:     (time: 29983, space: 2, keypoint: 1, individual: 1)
    Coordinates:
      * time        (time) float64 240kB 0.1 0.12 0.14 0.16 0.18 0.2 ... 599.7 599.7 599.7 599.7 599.7
      * space       (space) <U1 8B 'x' 'y'
      * keypoint    (keypoint) <U8 32B 'centroid'
      * individual  (individual) <U3 12B 'rat'
    Data variables:
        position    (time, space, keypoint, individual) float64 480kB 0.8098 0.2313 ... 0.03038 0.3022
        confidence  (time, keypoint, individual) float64 240kB nan nan nan nan nan ... nan nan nan nan
        segment     (time, individual) int64 240kB 0 0 0 0 0 0 0 0 0 0 0 0 0 ... 6 6 6 6 6 6 6 6 6 6 6 6
    Attributes:
        ds_type:          poses
        fps:              50.0
        time_unit:        seconds
        space_unit:       m
        source_software:  ratinabox
        source_file:      .../site-packages/ratinabox/data/sargolini.npz
        arena_shape:      box
        arena_width:      1.0
        arena_height:     1.0
        processing:       [{"step": "regularise", "n_missing_frames_inserted": 183, "max_time_shift_s...
        time_sampling:    frames
        citation:         Sargolini F., Fyhn M., Hafting T., McNaughton B.L., Witter M.P., Moser M.-B...
        species:          Rattus norvegicus
        description:      Rat foraging for scattered food in a 1 x 1 m box (Sargolini et al. 2006)

``position`` is NaN where the animal was not tracked; ``segment`` numbers the contiguous tracked stretches
(-1 where untracked) so that analyses never difference across a gap; ``confidence`` is NaN when the source
gives no score. Simulations add variables such as ``heading (time, individual)`` rad, ``action (time,
action_dim, individual)``, ``reward (time, individual)`` and ``hidden (time, unit, individual)``.

Attributes: ``fps`` (nominal frame rate, Hz), ``source_software``, ``source_file`` (absolute path, ``""`` in
memory), ``space_unit`` (``"m"``; ``"pixels"`` only when asked), ``time_unit`` (``"seconds"``), the arena
(``arena_shape`` box | circle | polygon | unknown with ``arena_width``/``arena_height`` or ``arena_radius``
in m; a box spans ``[0, W] x [0, H]``, a circle is centred at ``(R, R)``; a polygon, or a box or circle with
regions, also carries ``arena``: its mapping of boundary, holes, walls and named regions as JSON, read back
by :func:`arena_of`) and ``processing``: a JSON list of every step applied (calibration, interpolation,
segmentation, resampling...), so that nothing is changed silently.

Arenas: ``load(path, arena=...)`` and :func:`from_arrays` take any arena
:func:`neuroethology.envs.arena.resolve_arena` does (a preset such as ``"plus_maze"``, a YAML/JSON file, a
mapping in metres, a movement ``PolygonOfInterest``, the maze corners in pixels with its size in metres; see
:mod:`neuroethology.data.arenas`). Nothing guesses an arena: ``neuroethology.analysis.propose_arena`` drawn
over the track (``neuroethology.analysis.plots.trajectory.plot_arena_proposal``) proposes one from where the
animal went, and only an arena passed back as ``arena=`` is stored.

Time: ``time_sampling`` says what the time axis is. ``"frames"``: whole frames of ``fps`` (stated by the file
or the user), a missing frame an untracked sample. ``"as recorded"``: the file's own time stamps, kept when
no frame rate is stated (GPS tables, loggers): intervals vary, ``fps`` is nominal (1 / the median interval)
and every interval is one step of the animal; metrics use the actual intervals or say they cannot.
Individuals of one table fixed at their own times keep their own clocks: ``sampled (time, individual)`` is 1
at each individual's own fixes, and analyses read every individual at its own fixes only. Tables may give
date/time strings (zoned ones converted to UTC; ``time_origin`` is the first fix) and longitude/latitude,
projected to metres on a local azimuthal equidistant plane (``crs``; refused where the plane would distort
a step by more than 0.5 %; see :mod:`neuroethology.data.geography`).

Entry points: :func:`load` (every supported format, see its table), :func:`save` (netCDF),
:func:`from_arrays` (what loaders and simulations call), :func:`validate`, :func:`arena_of`,
:func:`to_movement` / :func:`from_movement` (movement 0.15's plural dims or >= 0.16's singular),
:func:`to_nwb` (NWB export), :func:`load_trials` (trial tables: one row per trial, see
:mod:`neuroethology.data.trials`), and the processing steps :func:`calibrate`, :func:`select_keypoints`,
:func:`interpolate_gaps`, :func:`label_segments`, :func:`resample`.

Neurons: :func:`add_spikes` / :func:`add_activity` put spike trains and continuous activity (rates, dF/F) on
a Recording's own clock, :func:`activity_of` reads them (or an agent's ``hidden`` units) for the neural
measures, :func:`bin_spikes` bins spikes on the Recording's own samples; :func:`load_spikes`,
:func:`read_nwb_units` and :func:`read_nwb_traces` read phy/Kilosort npz, CSV and NWB files (see
:mod:`neuroethology.data.neural`).
"""

from .convert import from_movement, to_movement
from .io import load, save
from .model import (
    RecordingError,
    add_processing_step,
    arena_of,
    from_arrays,
    processing_of,
    validate,
)
from .neural import NeuralActivity, activity_of, add_activity, add_spikes, bin_spikes
from .neural_files import load_spikes, read_nwb_traces, read_nwb_units
from .nwb import to_nwb
from .processing import calibrate, interpolate_gaps, label_segments, resample, select_keypoints, smooth
from .trials import as_trials, is_trials, load_trials, trials_from_arrays

__all__ = [
    "NeuralActivity",
    "RecordingError",
    "activity_of",
    "add_activity",
    "add_spikes",
    "bin_spikes",
    "load_spikes",
    "read_nwb_traces",
    "read_nwb_units",
    "add_processing_step",
    "arena_of",
    "as_trials",
    "is_trials",
    "calibrate",
    "from_arrays",
    "from_movement",
    "interpolate_gaps",
    "label_segments",
    "load",
    "load_trials",
    "processing_of",
    "resample",
    "save",
    "select_keypoints",
    "smooth",
    "to_movement",
    "to_nwb",
    "trials_from_arrays",
    "validate",
]
