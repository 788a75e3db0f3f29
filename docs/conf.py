"""Sphinx configuration: a sphinx-gallery site from ``tutorials/`` and an API reference (numpydoc).

Built offline by ``make docs`` into ``docs/_build/html``. The tutorials are not
executed by default (``plot_gallery = False``: they need the shared data and
minutes of CPU); ``make docs SPHINXOPTS="-D plot_gallery=1"`` runs them.
"""

import importlib
import inspect
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MPLBACKEND", "Agg")

import neurodyn  # noqa: E402

project = "neurodyn"
author = "neurodyn contributors"
release = version = getattr(neurodyn, "__version__", "0")

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
html_theme = "alabaster"
html_static_path = []
html_theme_options = {"description": "computational neuroscience toolkit over a shared torch core"}

autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": False}
numpydoc_show_class_members = False
numpydoc_validation_checks = set()
numpydoc_xref_param_type = False
suppress_warnings = ["autosummary", "autosectionlabel"]
nitpicky = False

sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "tutorials"),
    "gallery_dirs": "auto_tutorials",
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"/_",
    "plot_gallery": "False",
    "download_all_examples": False,
    "within_subsection_order": "FileNameSortKey",
    "remove_config_comments": True,
}

# ----------------------------------------------------------------------------- API pages
# One page per subpackage, listing its public functions and classes (its __all__),
# written at every build so that the reference follows the code.
SUBPACKAGES = {
    "connectome": "Functional-connectome tensor factorisation",
    "glm": "Poisson GLMs and state-switching (HMM) GLMs",
    "rsa": "Representational similarity analysis",
    "graph": "Functional graphs, node features, classification",
    "rnn": "Leaky RNNs, tasks, curricula, analyses",
    "compare": "Model-vs-brain comparisons",
    "datasets": "Data sets, loaders and simulators",
}


def _write_api_pages() -> None:
    api = HERE / "api"
    api.mkdir(exist_ok=True)
    toc = []
    for name, title in SUBPACKAGES.items():
        mod = importlib.import_module(f"neurodyn.{name}")
        funcs, classes = [], []
        for attr in getattr(mod, "__all__", []):
            obj = getattr(mod, attr, None)
            if inspect.isclass(obj):
                classes.append(attr)
            elif callable(obj):
                funcs.append(attr)
        lines = [f"``neurodyn.{name}``: {title}", "=" * (len(name) + 15 + len(title)), "",
                 f".. automodule:: neurodyn.{name}", "   :no-members:", "", f".. currentmodule:: neurodyn.{name}", ""]
        for heading, items in (("Classes", classes), ("Functions", funcs)):
            if not items:
                continue
            lines += [heading, "-" * len(heading), "", ".. autosummary::", "   :toctree: ../generated", ""]
            lines += [f"   {item}" for item in items] + [""]
        text = "\n".join(lines)
        page = api / f"{name}.rst"
        if not page.is_file() or page.read_text() != text:
            page.write_text(text)
        toc.append(f"   api/{name}")
    index = HERE / "api.rst"
    text = "\n".join(["API reference", "=============", "", ".. toctree::", "   :maxdepth: 1", "", *toc, ""])
    if not index.is_file() or index.read_text() != text:
        index.write_text(text)


_write_api_pages()


def _skip_sklearn_plumbing(app, what, name, obj, skip, options):
    # scikit-learn's metadata-routing setters (set_fit_request, ...) are not neurodyn API
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_sklearn_plumbing)
