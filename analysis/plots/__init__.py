"""Publication figures: one style, ``ax=None`` in, ``(fig, ax)`` out, vector PDF and PNG on save."""

from .animation import render_rollout, save_animation
from .distributions import plot_distributions, plot_metric_comparison, plot_metric_table
from .regions import draw_regions, plot_region_occupancy
from .report import save_comparison_figures
from .style import apply_style, group_colours, new_figure, save_figure
from .trajectory import draw_arena, plot_arena_proposal, plot_occupancy, plot_trajectory

__all__ = [
    "apply_style",
    "draw_arena",
    "draw_regions",
    "group_colours",
    "new_figure",
    "plot_arena_proposal",
    "plot_distributions",
    "plot_metric_comparison",
    "plot_metric_table",
    "plot_occupancy",
    "plot_region_occupancy",
    "plot_trajectory",
    "render_rollout",
    "save_animation",
    "save_comparison_figures",
    "save_figure",
]
