# loopsight-config: select=LS,possible
