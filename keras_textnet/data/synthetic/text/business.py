"""Business documents: form labels, invoice line items and table cells."""

from __future__ import annotations

from keras_textnet.data.synthetic.text.dates import MONTHS
from keras_textnet.data.synthetic.text.identifiers import identifier, letters
from keras_textnet.data.synthetic.text.numbers import CURRENCIES, UNITS, int_text, number
from keras_textnet.data.synthetic.text.prose import HEADINGS, title_case
from keras_textnet.data.synthetic.text.words import plain_words

_FORM_LABELS = (
    "Invoice No.", "Invoice number", "Invoice date", "Due date", "Order No.", "Order date",
    "PO number", "Customer ID", "Customer No.", "Account number", "Account holder",
    "Reference", "Our ref.", "Your ref.", "Date", "Date of birth", "Place of birth",
    "Name", "First name", "Last name", "Surname", "Given names", "Full name", "Title",
    "Company", "Company name", "Department", "Position", "Job title", "Address",
    "Street", "City", "State", "ZIP code", "Postal code", "Country", "Phone", "Telephone",
    "Mobile", "Fax", "E-mail", "Email address", "Website", "Tax ID", "VAT No.", "VAT",
    "IBAN", "BIC", "SWIFT", "Bank", "Sort code", "Routing number", "Amount", "Total",
    "Subtotal", "Total due", "Balance due", "Amount paid", "Discount", "Tax", "Shipping",
    "Quantity", "Qty", "Unit price", "Price", "Description", "Item", "Item No.", "SKU",
    "Payment method", "Payment terms", "Signature", "Signed", "Approved by", "Prepared by",
    "Checked by", "Issued by", "Valid until", "Start date", "End date", "Period",
    "Nationality", "Passport No.", "ID number", "Gender", "Marital status", "Occupation",
    "Employer", "Annual income", "Emergency contact", "Relationship", "Notes", "Comments",
    "Remarks", "Status", "Priority", "Project", "Contract No.", "Policy number",
    "Claim number", "Patient name", "Doctor", "Diagnosis", "Case No.", "Serial No.",
    "Model", "Version", "Page", "Sheet", "Ship to", "Bill to", "Sold to", "Deliver to",
    "Tracking number", "Carrier", "Weight", "Dimensions", "Time", "Hours", "Rate",
)
_PRODUCTS = (
    "cable", "adapter", "charger", "keyboard", "mouse", "monitor", "laptop stand", "headset",
    "printer paper", "toner cartridge", "ink cartridge", "notebook", "ballpoint pens",
    "stapler", "folder", "envelopes", "desk lamp", "office chair", "desk", "whiteboard",
    "marker set", "coffee beans", "green tea", "mineral water", "orange juice", "milk",
    "bread", "olive oil", "pasta", "rice", "chocolate bar", "apples", "bananas", "cheese",
    "screws", "bolts", "washers", "drill bit", "hammer", "paint", "brush", "gloves",
    "safety glasses", "hard drive", "SSD", "memory module", "router", "switch", "license",
    "battery", "light bulb", "extension lead", "USB stick", "backpack", "t-shirt", "jacket",
    "shoes", "socks", "towel", "soap", "shampoo", "toothpaste", "detergent", "sponge",
)
_SERVICES = (
    "Consulting services", "Maintenance", "Support contract", "Annual subscription",
    "Monthly subscription", "Installation", "Shipping and handling", "Delivery",
    "Labour", "Design work", "Software development", "Training session", "Hosting",
    "Cleaning service", "Repair", "Inspection", "Translation", "Legal advice",
    "Setup fee", "Late payment fee", "Service charge", "Travel expenses",
)
_ATTRIBUTES = (
    "black", "white", "grey", "blue", "red", "green", "silver", "large", "small", "medium",
    "XL", "premium", "standard", "basic", "pro", "organic", "recycled", "wireless",
    "stainless steel", "cotton", "leather", "wooden", "plastic", "ergonomic", "refill",
)
_SHORT_CODES = ("US", "DE", "FR", "GB", "IT", "ES", "NL", "CH", "JP", "CN", "IN", "BR",
                "CA", "AU", "N/A", "TBD", "OK", "NA", "Y", "N", "A1", "B2", "C3", "EA", "PC",
                "BOX", "SET", "KG", "HR", "DAY")


def form_label(sampler, r) -> str:
    """A form field label: ``"Invoice No.:"``, ``"Date of birth"``, ``"ACCOUNT HOLDER"``."""
    label = r.choice(_FORM_LABELS)
    u = r.random()
    if u < 0.12:
        label = label.upper()
    elif u < 0.2:
        label = label.lower()
    v = r.random()
    if v < 0.5:
        label += ":"
    elif v < 0.55:
        label += " *"
    elif v < 0.58:
        label += " (optional)"
    elif v < 0.6:
        label = f"{r.randint(1, 30)}. {label}"
    return label


def product(sampler, r) -> str:
    """An invoice / receipt line item (``"USB-C cable 1 m, black (pack of 3)"``)."""
    if r.random() < 0.25:
        text = r.choice(_SERVICES)
        v = r.random()
        if v < 0.3:
            text += f" - {MONTHS[r.randrange(12)]} {r.randint(2018, 2030)}"
        elif v < 0.5:
            text += f": {r.randint(1, 40) / 2:g} h @ {r.randint(20, 250)}.00"
        elif v < 0.6:
            text += f" ({identifier(sampler, r)})"
        return text
    name = r.choice(_PRODUCTS)
    if r.random() < 0.5:
        name = f"{r.choice(_ATTRIBUTES)} {name}"
    name = name[:1].upper() + name[1:]
    if r.random() < 0.3:
        name += f" {letters(r, r.randint(1, 3))}-{r.randint(10, 9999)}"
    if r.random() < 0.3:
        name += f" {r.randint(1, 1000)}{r.choice(UNITS)}"
    if r.random() < 0.25:
        name += f", {r.choice(_ATTRIBUTES)}"
    if r.random() < 0.15:
        name += f" (pack of {r.choice((2, 3, 4, 5, 6, 10, 12, 24, 50, 100))})"
    if r.random() < 0.2:
        name = f"{r.randint(1, 20)} x {name}"
    return name.upper() if r.random() < 0.08 else name


def cell_text(sampler, r) -> str:
    u = r.random()
    if u < 0.5:
        words = plain_words(sampler, r, r.randint(1, 4))
        words[0] = words[0][:1].upper() + words[0][1:]
        return " ".join(words)
    if u < 0.7:
        return product(sampler, r)
    if u < 0.8:
        return r.choice(HEADINGS)
    if u < 0.9:
        return r.choice(("Yes", "No", "Paid", "Open", "Pending", "Closed", "Approved",
                         "Rejected", "In progress", "Done", "N/A", "-", "Total", "Subtotal"))
    return title_case(plain_words(sampler, r, r.randint(1, 3)))


def cell_number(sampler, r) -> str:
    u = r.random()
    if u < 0.4:
        return str(r.randint(0, 999))
    if u < 0.65:
        return int_text(sampler, r, 7)
    if u < 0.9:
        return f"{r.random() * 10 ** r.randint(0, 5):,.{r.randint(1, 3)}f}"
    return number(sampler, r)


def cell_code(sampler, r) -> str:
    u = r.random()
    if u < 0.35:
        return r.choice(_SHORT_CODES)
    if u < 0.55:
        return r.choice(CURRENCIES)
    if u < 0.75:
        return f"{letters(r, r.randint(1, 3))}{r.randint(1, 999)}"
    if u < 0.9:
        return f"{letters(r, 2)}-{r.randint(10, 99)}"
    return r.choice(UNITS)
