"""Demo data for AskHub: the fictional Telenova organisation used by ``askhub demo load``."""
