"""Page layouts of the synthetic document generator.

Each layout is a function ``layout(ctx)`` that draws a whole page through
``ctx.canvas`` (see :class:`~keras_textnet.data.synthetic.layouts.common.Ctx`).
:data:`LAYOUTS` maps a layout's name to its function, :data:`DEFAULT_WEIGHTS` to
its default sampling weight.
"""

from keras_textnet.data.synthetic.layouts.blank import layout_blank
from keras_textnet.data.synthetic.layouts.business import (
                                                           layout_form,
                                                           layout_invoice,
                                                           layout_receipt,
)
from keras_textnet.data.synthetic.layouts.common import Ctx
from keras_textnet.data.synthetic.layouts.presentation import (
                                                           layout_code,
                                                           layout_mixed,
                                                           layout_reference_card,
                                                           layout_slide,
)
from keras_textnet.data.synthetic.layouts.prose import layout_article, layout_report, layout_toc
from keras_textnet.data.synthetic.layouts.tables import layout_table
from keras_textnet.data.synthetic.layouts.text_source import TextSource

#: name -> layout function.
LAYOUTS = {
    "article": layout_article,
    "report": layout_report,
    "table": layout_table,
    "form": layout_form,
    "invoice": layout_invoice,
    "receipt": layout_receipt,
    "slide": layout_slide,
    "reference_card": layout_reference_card,
    "code": layout_code,
    "toc": layout_toc,
    "mixed": layout_mixed,
    "blank": layout_blank,
}

#: name -> default sampling weight.
DEFAULT_WEIGHTS = {
    "article": 2.0,
    "report": 1.2,
    "table": 1.5,
    "form": 1.3,
    "invoice": 1.3,
    "receipt": 0.8,
    "slide": 0.8,
    "reference_card": 0.8,
    "code": 0.8,
    "toc": 0.6,
    "mixed": 1.8,
    # Pages without text; 0 by default so that a seed draws the same page as before
    # (training configs give it a weight: training/configs/).
    "blank": 0.0,
}

__all__ = ["Ctx", "DEFAULT_WEIGHTS", "LAYOUTS", "TextSource"]
