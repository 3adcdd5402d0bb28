def broken(:  # LS001
    pass
