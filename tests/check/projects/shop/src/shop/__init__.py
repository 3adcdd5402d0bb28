from .services.storage import load_catalogue as load_catalogue
