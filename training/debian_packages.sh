# Shell functions of the dataset builds (sourced by build_pdf_dataset.sh and build_val_set.sh):
#
#   packages_of FILE                the packages of a sources file (first field of each
#                                   line, comments dropped), sorted, each once
#   install_missing_packages PKG... apt-get install those of PKG... not installed, with
#                                   poppler-utils (sudo when not root)
#   require_pdftoppm                exit 1 with a message when poppler's pdftoppm is missing
#
# Finding the PDFs inside the packages is Python: training/debian_pdfs.py.

packages_of() { sed 's/#.*//' "$1" | awk 'NF {print $1}' | sort -u; }

install_missing_packages() {
  local p sudo="" missing=()
  for p in "$@"; do
    [[ "$(dpkg-query -W -f '${db:Status-Status}' "$p" 2>/dev/null || true)" == installed ]] || missing+=("$p")
  done
  if [[ ${#missing[@]} -gt 0 ]]; then
    [[ $(id -u) -ne 0 ]] && sudo="sudo"
    echo "Installing ${missing[*]}" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
      poppler-utils "${missing[@]}"
  fi
}

require_pdftoppm() {
  command -v pdftoppm >/dev/null || { echo "pdftoppm not found: apt-get install poppler-utils" >&2; exit 1; }
}
