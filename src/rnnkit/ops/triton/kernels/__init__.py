"""The ``@triton.jit`` kernels, one module per cell family; importing it imports triton.

Every step kernel works on one tile of (rows, H) per program: grid (⌈b / BLOCK_B⌉, ⌈H / BLOCK_H⌉).
Per-row operands are passed as a pointer to the step's first row plus a row stride (columns
contiguous); gate blocks of a row sit H apart. Loads are cast to fp32, stores to the buffer's dtype.
"""
