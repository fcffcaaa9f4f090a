"""keras_textnet: end-to-end text localization and recognition for documents."""

import pathlib

from setuptools import find_packages, setup

HERE = pathlib.Path(__file__).parent
VERSION = {}
exec((HERE / "keras_textnet" / "version.py").read_text(), VERSION)

INSTALL_REQUIRES = [
    # Exact pins only where reproducibility needs them: TensorFlow (the custom op is built
    # against its headers; the saved models and exports were checked with it), and the two
    # sources of synthetic text (the same seed must give the same page).
    "tensorflow==2.21.0",
    "keras>=3.15,<4",
    "numpy>=2.0,<3",
    "opencv-python-headless>=4.10",
    "pillow>=10.0",
    "fonttools>=4.50",  # font metadata and coverage for the synthetic generator
    "matplotlib>=3.8",  # ships the DejaVu / STIX / Computer Modern fonts we render with
    "tf2onnx>=1.16,<2",  # its public API only (convert.from_function)
    "onnxruntime>=1.20",
    "ai-edge-litert>=2.0",
    "flatbuffers>=24.3.25",  # TFLite model surgery (keras_textnet/export/tflite.py)
    "tensorboard>=2.21,<2.22",  # TensorBoard's minor version follows TensorFlow's
    "tqdm>=4.66",
    "PyYAML>=6.0",
    "wordfreq==3.1.1",  # word-frequency English for synthetic text
    "Faker==40.54.0",  # names, addresses, companies, dates for forms and invoices
    "reportlab>=4.0,<6",  # `read --format pdf`: the searchable PDF (page image + invisible text)
]

EXTRAS_REQUIRE = {
    "tests": [
        "pytest>=8.0",
        "pytest-xdist>=3.5",  # the fast suite runs on two workers (pytest.ini)
    ],
}

setup(
    name="keras-textnet",
    version=VERSION["__version__"],
    description=(
        "One Keras network that finds and reads every text line of a document "
        "image (Sarshogh & Hines, ICDAR 2019)."
    ),
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    # Every Python the pinned TensorFlow has wheels for and that is still maintained: 3.11,
    # 3.12, 3.13 (the fast suite passes on each; 3.10 is end-of-life and NumPy 2.3+ has no
    # wheels for it).
    python_requires=">=3.11,<3.14",
    # The custom pooling op is compiled on the user's machine (keras-textnet build-ops, or at
    # first use): its sources ship inside the package as keras_textnet/custom_ops_src.
    packages=find_packages(include=["keras_textnet", "keras_textnet.*"])
    + ["keras_textnet.custom_ops_src"],
    package_dir={"keras_textnet.custom_ops_src": "custom_ops"},
    # The trained model that `keras-textnet read` uses by default ships in keras_textnet/assets.
    package_data={"keras_textnet": ["assets/*.keras", "assets/*.txt.gz"],
                  "keras_textnet.custom_ops_src": ["*.cc", "*.h", "*.cuh", "Makefile",
                                                   "README.md", "gpu_check/*.py",
                                                   "gpu_check/*.cu", "gpu_check/*.sh"]},
    install_requires=INSTALL_REQUIRES,
    extras_require=EXTRAS_REQUIRE,
    entry_points={"console_scripts": ["keras-textnet=keras_textnet.cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3.11",
        "Programming Language :: Python :: 3.12",
        "Programming Language :: Python :: 3.13",
        "Topic :: Scientific/Engineering :: Image Recognition",
    ],
)
