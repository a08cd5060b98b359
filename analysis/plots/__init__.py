"""Publication figures: one style, ``ax=None`` in, ``(fig, ax)`` out, vector PDF and PNG on save."""

from .style import apply_style, save_figure
from .trajectory import draw_arena, plot_occupancy, plot_trajectory

__all__ = ["apply_style", "draw_arena", "plot_occupancy", "plot_trajectory", "save_figure"]
