"""nilearn fetcher wrappers, with nilearn's fetchers replaced by local files of the same format."""

from pathlib import Path

import nibabel as nib
import nilearn.datasets
import numpy as np
import pandas as pd
import pytest
from sklearn.utils import Bunch

from neurodyn.datasets import DatasetMeta, fetch_adhd, fetch_development_fmri, fetch_haxby


def _write_func(path: Path, n_vols: int = 6) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = np.random.default_rng(0).normal(size=(3, 3, 2, n_vols)).astype(np.float32)
    img = nib.Nifti1Image(data, np.diag([3.0, 3.0, 3.0, 1.0]))
    img.header.set_zooms((3.0, 3.0, 3.0, 2.0))
    nib.save(img, path)
    return path


def _write_confounds(path: Path, n_vols: int = 6, sep: str = "\t") -> Path:
    df = pd.DataFrame(np.random.default_rng(1).normal(size=(n_vols, 3)), columns=["trans_x", "trans_y", "csf"])
    df.to_csv(path, sep=sep, index=False)
    return path


def test_fetch_adhd_aligns_labels_on_padded_ids(tmp_path, monkeypatch):
    ids = ["0010042", "0010064", "0023008"]
    func = [_write_func(tmp_path / "data" / i / f"{i}_rest_tshift_RPI_voreg_mni.nii.gz") for i in ids]
    conf = [_write_confounds(tmp_path / "data" / i / f"{i}_regressors.csv", sep=",") for i in ids]
    # the phenotypic table lost the zero padding, is in another order and lacks one subject
    pheno = pd.DataFrame({"Subject": [23008, 10042], "adhd": [1, 0], "site": ["a", "b"]})
    calls = {}

    def fake_fetch_adhd(**kwargs):
        calls.update(kwargs)
        return Bunch(func=[str(f) for f in func], confounds=[str(c) for c in conf],
                     phenotypic=pheno, description="ADHD test\n\nmore", t_r=2.0)

    monkeypatch.setattr(nilearn.datasets, "fetch_adhd", fake_fetch_adhd)
    with pytest.warns(UserWarning, match=r"no phenotypic row for subjects \['0010064'\]"):
        out = fetch_adhd(n_subjects=3, data_dir=tmp_path)
    assert calls == {"n_subjects": 3, "data_dir": tmp_path, "verbose": 0}
    assert out.subjects == ids
    np.testing.assert_array_equal(out.labels, [0, -1, 1])
    assert out.func == [str(f) for f in func] and out.confounds == [str(c) for c in conf]
    assert nib.load(out.func[0]).shape == (3, 3, 2, 6)
    assert pd.read_csv(out.confounds[2]).shape == (6, 3)
    assert out.t_r == 2.0
    assert isinstance(out.meta, DatasetMeta) and out.meta.name == "nilearn_adhd"
    assert out.meta.description == "ADHD test"
    assert out.meta.files[0] == func[0] and len(out.meta.files) == 6


def test_fetch_development_fmri_labels(tmp_path, monkeypatch):
    subs = ["sub-pixar123", "sub-pixar007"]
    func = [_write_func(tmp_path / f"{s}_task-pixar_space-MNI152NLin2009cAsym_desc-preproc_bold.nii.gz")
            for s in subs]
    conf = [_write_confounds(tmp_path / f"{s}_task-pixar_desc-reducedConfounds_regressors.tsv") for s in subs]
    pheno = pd.DataFrame({"participant_id": ["sub-pixar007", "sub-pixar123"], "Child_Adult": ["adult", "child"],
                          "Age": [25.0, 5.5]})
    monkeypatch.setattr(nilearn.datasets, "fetch_development_fmri",
                        lambda **kw: Bunch(func=[str(f) for f in func], confounds=[str(c) for c in conf],
                                           phenotypic=pheno, description="", t_r=2))
    out = fetch_development_fmri(n_subjects=2)
    assert out.subjects == subs
    np.testing.assert_array_equal(out.labels, ["child", "adult"])
    assert out.t_r == 2.0 and isinstance(out.t_r, float)
    assert pd.read_csv(out.confounds[0], sep="\t").columns.tolist() == ["trans_x", "trans_y", "csf"]
    assert out.meta.extra["t_r"] == 2.0


def test_fetch_haxby_reads_session_targets(tmp_path, monkeypatch):
    subj = tmp_path / "subj2"
    func = _write_func(subj / "bold.nii.gz", n_vols=5)
    (subj / "labels.txt").write_text("labels chunks\nrest 0\nface 0\nface 0\nhouse 1\nrest 1\n")
    mask = _write_func(subj / "mask4_vt.nii.gz", n_vols=1)
    monkeypatch.setattr(nilearn.datasets, "fetch_haxby",
                        lambda **kw: Bunch(func=[str(func)], session_target=[str(subj / "labels.txt")],
                                           mask_vt=[str(mask)], anat=[None], mask=str(mask),
                                           description="Haxby", t_r=2.5))
    out = fetch_haxby(subjects=[2])
    assert out.subjects == ["subj2"]
    np.testing.assert_array_equal(out.labels[0], ["rest", "face", "face", "house", "rest"])
    np.testing.assert_array_equal(out.runs[0], [0, 0, 0, 1, 1])
    assert out.labels[0].shape[0] == nib.load(out.func[0]).shape[-1]
    assert out.anat == [None] and out.confounds is None and out.t_r == 2.5
    assert out.meta.extra["conditions"] == ["face", "house", "rest"]


def test_fetch_haxby_rejects_malformed_targets(tmp_path, monkeypatch):
    (tmp_path / "labels.txt").write_text("cond run\nrest 0\n")
    monkeypatch.setattr(nilearn.datasets, "fetch_haxby",
                        lambda **kw: Bunch(func=[str(tmp_path / "bold.nii.gz")],
                                           session_target=[str(tmp_path / "labels.txt")]))
    with pytest.raises(ValueError, match="must start with the header 'labels chunks'; got 'cond run'"):
        fetch_haxby()


def test_network_failure_becomes_file_not_found(tmp_path, monkeypatch):
    def offline(**kwargs):
        raise ConnectionError("Name or service not known")

    monkeypatch.setattr(nilearn.datasets, "fetch_adhd", offline)
    with pytest.raises(FileNotFoundError) as info:
        fetch_adhd(data_dir=tmp_path)
    msg = str(info.value)
    assert "nilearn.datasets.fetch_adhd could not get its files (ConnectionError" in msg
    assert str(tmp_path) in msg and "NILEARN_DATA" in msg
