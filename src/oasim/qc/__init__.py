"""Product characterisation and release of hUC-MSC lots and their exosomes.

ISCT identity by flow cytometry (Dominici et al. 2006), trilineage differentiation, exosome
characterisation (NTA size, BCA purity, Western blot markers, MISEV2018/2023 checklist), an
HTML release report, and the lot attributes the simulation uses (particles per µg, mode
size, relative potency). Lot folder layout: :mod:`oasim.qc.lot`. Command: ``oasim qc``.
"""

from oasim.qc.flow import FcsData as FcsData
from oasim.qc.flow import MarkerSpec as MarkerSpec
from oasim.qc.flow import measure_markers as measure_markers
from oasim.qc.flow import read_fcs as read_fcs
from oasim.qc.isct import IdentityResult as IdentityResult
from oasim.qc.isct import evaluate_identity as evaluate_identity
from oasim.qc.isct import evaluate_identity_from_percents as evaluate_identity_from_percents
from oasim.qc.lot import LotAttributes as LotAttributes
from oasim.qc.lot import load_lot_attributes as load_lot_attributes
from oasim.qc.lot import read_lot as read_lot
from oasim.qc.lot import scale_exosome_effect as scale_exosome_effect
from oasim.qc.lot import ug_to_particles as ug_to_particles
from oasim.qc.misev import build_checklist as build_checklist
from oasim.qc.nta import NtaResult as NtaResult
from oasim.qc.nta import read_nta as read_nta
from oasim.qc.nta import size_statistics as size_statistics
from oasim.qc.protein import read_bca as read_bca
from oasim.qc.protein import read_western as read_western
from oasim.qc.release import ReleaseResult as ReleaseResult
from oasim.qc.release import run_qc as run_qc
from oasim.qc.release import write_release as write_release
from oasim.qc.trilineage import read_trilineage as read_trilineage

__all__ = [
    "FcsData", "IdentityResult", "LotAttributes", "MarkerSpec", "NtaResult", "ReleaseResult",
    "build_checklist", "evaluate_identity", "evaluate_identity_from_percents",
    "load_lot_attributes", "measure_markers", "read_bca", "read_fcs", "read_lot", "read_nta",
    "read_trilineage", "read_western", "run_qc", "scale_exosome_effect", "size_statistics", "ug_to_particles",
    "write_release",
]
