# a comment
name = "café"  # LS002
