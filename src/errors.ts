// errors: the one error type sabmalloc throws for heap-level failures.
//
// Bad arguments (a size that is not a non-negative integer, an option out of range) throw the
// built-in TypeError/RangeError; everything that concerns a pointer or the heap's state throws a
// HeapError with a machine-readable `code`.

export type HeapErrorCode = "INVALID_POINTER" | "DOUBLE_FREE" | "DETACHED" | "CORRUPTION" | "LOCK_TIMEOUT" | "BAD_SNAPSHOT";

export class HeapError extends Error {
  readonly code: HeapErrorCode;

  constructor(code: HeapErrorCode, message: string) {
    super(`${code}: ${message}`);
    this.name = "HeapError";
    this.code = code;
  }
}

export function invalidPointer(ptr: number, why: string): HeapError {
  return new HeapError("INVALID_POINTER", `${ptr} (0x${ptr.toString(16)}) ${why}`);
}

export function doubleFree(ptr: number, why: string): HeapError {
  return new HeapError("DOUBLE_FREE", `${ptr} (0x${ptr.toString(16)}) ${why}`);
}

export function corruption(where: string): HeapError {
  return new HeapError("CORRUPTION", where);
}

export function badSnapshot(why: string): HeapError {
  return new HeapError("BAD_SNAPSHOT", why);
}
