/**
 * A WebAssembly SIMD (f32x4) dot-product kernel for dense queries: scalar JavaScript tops out at
 * ~0.5 GFLOP/s on a dense scan; four lanes per instruction, and four rows per pass (four
 * independent accumulator chains, one query load per four rows, four memory streams) make the scan
 * memory-bound instead.
 *
 * The kernel imports the memory that holds a tenant's embeddings, so it scans them where they are:
 * the build (in a worker) allocates the embeddings inside a shared `WebAssembly.Memory`
 * (`allocateEmbeddings`), the memory crosses `postMessage` without a copy, and the main thread
 * instantiates the kernel over it (`DenseDotKernel.over`) in O(1): no copy at swap time. The memory
 * has a little scratch room after the embeddings for the query vector and one block of scores.
 *
 * The module is assembled below (`kernelModuleBytes`), instruction by instruction, from this WAT;
 * `WebAssembly.validate` decides whether this runtime has SIMD, otherwise every caller keeps the
 * JavaScript scan.
 *
 * ```wat
 * (module
 *   (import "env" "memory" (memory 1 65536 shared))
 *   ;; For each of rowCount rows of dims f32 starting at $rows: out[row] = Σ row[j] · query[j].
 *   (func (export "scores") (param $rows i32) (param $rowCount i32) (param $dims i32) (param $query i32) (param $out i32)
 *     (local $outEnd i32) (local $out4End i32) (local $rowBytes i32) (local $end4 i32) (local $j i32)
 *     (local $row1 i32) (local $row2 i32) (local $row3 i32)
 *     (local $acc0 v128) (local $acc1 v128) (local $acc2 v128) (local $acc3 v128) (local $q v128)
 *     (local $sum0 f32) (local $sum1 f32) (local $sum2 f32) (local $sum3 f32) (local $qf f32)
 *     (local.set $outEnd (i32.add (local.get $out) (i32.shl (local.get $rowCount) (i32.const 2))))
 *     (local.set $out4End (i32.add (local.get $out) (i32.shl (i32.and (local.get $rowCount) (i32.const -4)) (i32.const 2))))
 *     (local.set $rowBytes (i32.shl (local.get $dims) (i32.const 2)))
 *     (local.set $end4 (i32.shl (i32.and (local.get $dims) (i32.const -4)) (i32.const 2)))
 *     ;; Groups of four rows ($rows, $row1, $row2, $row3): four accumulator chains, four pages streamed at once.
 *     (block $done4 (loop $group
 *       (br_if $done4 (i32.ge_u (local.get $out) (local.get $out4End)))
 *       (local.set $row1 (i32.add (local.get $rows) (local.get $rowBytes)))   ;; $row2, $row3 likewise
 *       (local.set $acc0 (v128.const i64x2 0 0))                              ;; $acc1..$acc3 likewise
 *       (local.set $j (i32.const 0))
 *       (block $b4 (loop $l4                                                  ;; 4 floats per step
 *         (br_if $b4 (i32.ge_u (local.get $j) (local.get $end4)))
 *         (local.set $q (v128.load (i32.add (local.get $query) (local.get $j))))
 *         (local.set $acc0 (f32x4.add (local.get $acc0)
 *           (f32x4.mul (v128.load (i32.add (local.get $rows) (local.get $j))) (local.get $q))))
 *         ;; … $acc1 with $row1, $acc2 with $row2, $acc3 with $row3
 *         (local.set $j (i32.add (local.get $j) (i32.const 16)))
 *         (br $l4)))
 *       (local.set $sum0 (f32.add (f32.add (f32x4.extract_lane 0 (local.get $acc0)) (f32x4.extract_lane 1 (local.get $acc0)))
 *                                 (f32.add (f32x4.extract_lane 2 (local.get $acc0)) (f32x4.extract_lane 3 (local.get $acc0)))))
 *       ;; … $sum1..$sum3 likewise
 *       (block $bt (loop $lt                                                  ;; scalar tail: dims % 4 floats
 *         (br_if $bt (i32.ge_u (local.get $j) (local.get $rowBytes)))
 *         (local.set $qf (f32.load (i32.add (local.get $query) (local.get $j))))
 *         (local.set $sum0 (f32.add (local.get $sum0)
 *           (f32.mul (f32.load (i32.add (local.get $rows) (local.get $j))) (local.get $qf))))
 *         ;; … $sum1..$sum3 likewise
 *         (local.set $j (i32.add (local.get $j) (i32.const 4)))
 *         (br $lt)))
 *       (f32.store offset=0 (local.get $out) (local.get $sum0))               ;; offset=4, 8, 12: $sum1..$sum3
 *       (local.set $out (i32.add (local.get $out) (i32.const 16)))
 *       (local.set $rows (i32.add (local.get $row3) (local.get $rowBytes)))
 *       (br $group)))
 *     ;; The last rowCount % 4 rows, one at a time: the same body with one row ($rows, $acc0, $sum0).
 *     (block $done1 (loop $single
 *       (br_if $done1 (i32.ge_u (local.get $out) (local.get $outEnd)))
 *       …
 *       (local.set $out (i32.add (local.get $out) (i32.const 4)))
 *       (local.set $rows (i32.add (local.get $rows) (local.get $rowBytes)))
 *       (br $single))))
 * ```
 *
 * Scores are float32 sums in a different order than the JavaScript scan's float64 ones, so they
 * differ from it by rounding (≲ 1e-6 for unit vectors); identical rows still get identical scores,
 * so ties still go to the lower row.
 */

// ---------------------------------------------------------------- assembler

const PAGE_BYTES = 65536;
/** Largest memory we create (pages): addresses stay below 2^32 with room for the scratch arithmetic. */
const MAX_PAGES = 65535;
/** Rows scored per kernel call: 16 KiB of scores, which stay in L1 while the heap reads them. */
export const SCORE_BLOCK_ROWS = 4096;

const I32 = 0x7f;
const F32 = 0x7d;
const V128 = 0x7b;
const VOID_BLOCK = 0x40;

/** Unsigned LEB128. */
function uleb(value: number): number[] {
  const bytes: number[] = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value !== 0) byte |= 0x80;
    bytes.push(byte);
  } while (value !== 0);
  return bytes;
}

/** Signed LEB128 (for i32.const). */
function sleb(value: number): number[] {
  const bytes: number[] = [];
  for (;;) {
    const byte = value & 0x7f;
    value >>= 7;
    if ((value === 0 && (byte & 0x40) === 0) || (value === -1 && (byte & 0x40) !== 0)) {
      bytes.push(byte);
      return bytes;
    }
    bytes.push(byte | 0x80);
  }
}

const name = (text: string) => [...uleb(text.length), ...new TextEncoder().encode(text)];
const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];

// Instructions used by the kernel.
const op = {
  block: [0x02, VOID_BLOCK],
  loop: [0x03, VOID_BLOCK],
  end: [0x0b],
  br: (depth: number) => [0x0c, ...uleb(depth)],
  brIf: (depth: number) => [0x0d, ...uleb(depth)],
  get: (local: number) => [0x20, ...uleb(local)],
  set: (local: number) => [0x21, ...uleb(local)],
  i32Const: (value: number) => [0x41, ...sleb(value)],
  i32Add: [0x6a],
  i32And: [0x71],
  i32Shl: [0x74],
  i32GeU: [0x4f],
  /** align 2^2 (rows start at any multiple of 4 bytes), then the offset. */
  f32Load: (offset: number) => [0x2a, 0x02, ...uleb(offset)],
  f32Store: (offset: number) => [0x38, 0x02, ...uleb(offset)],
  f32Add: [0x92],
  f32Mul: [0x94],
  v128Load: (offset: number) => [0xfd, ...uleb(0x00), 0x02, ...uleb(offset)],
  v128Zero: [0xfd, ...uleb(0x0c), ...new Array<number>(16).fill(0)],
  f32x4ExtractLane: (lane: number) => [0xfd, ...uleb(0x1f), lane],
  f32x4Add: [0xfd, ...uleb(0xe4)],
  f32x4Mul: [0xfd, ...uleb(0xe6)],
};

// Locals: the five parameters, then the declared ones.
const ROWS = 0, ROW_COUNT = 1, DIMS = 2, QUERY = 3, OUT = 4;
const OUT_END = 5, OUT4_END = 6, ROW_BYTES = 7, END4 = 8, J = 9;
/** Start of rows 1..3 of a group of four (row 0 starts at ROWS). */
const ROW_AT = [ROWS, 10, 11, 12] as const;
const ACC = [13, 14, 15, 16] as const;
const QUERY_LANES = 17;
const SUM = [18, 19, 20, 21] as const;
const QUERY_VALUE = 22;

const addTo = (local: number, bytes: number) => [...op.get(local), ...op.i32Const(bytes), ...op.i32Add, ...op.set(local)];

/**
 * Scores `rows` consecutive rows (4 or 1) starting at ROWS into out[0..rows): one f32x4
 * accumulator per row over the 4-float steps, the horizontal sum (l0 + l1) + (l2 + l3), then the
 * dims % 4 tail in scalar order. The arithmetic per row is the same whether it is scored in a group
 * of four or alone, so identical rows always get identical scores (and ties go to the lower row).
 */
function scoreRows(rows: 1 | 4): number[] {
  const each = (emit: (row: number) => number[]) => Array.from({ length: rows }, (_, row) => emit(row)).flat();
  return [
    ...each((row) => (row === 0 ? [] : [...op.get(ROW_AT[row - 1]!), ...op.get(ROW_BYTES), ...op.i32Add, ...op.set(ROW_AT[row]!)])),
    ...each((row) => [...op.v128Zero, ...op.set(ACC[row]!)]),
    ...op.i32Const(0), ...op.set(J),
    // 4 floats per step: the query lanes are loaded once for all the rows.
    ...op.block, ...op.loop,
    ...op.get(J), ...op.get(END4), ...op.i32GeU, ...op.brIf(1),
    ...op.get(QUERY), ...op.get(J), ...op.i32Add, ...op.v128Load(0), ...op.set(QUERY_LANES),
    ...each((row) => [
      ...op.get(ACC[row]!),
      ...op.get(ROW_AT[row]!), ...op.get(J), ...op.i32Add, ...op.v128Load(0),
      ...op.get(QUERY_LANES), ...op.f32x4Mul, ...op.f32x4Add, ...op.set(ACC[row]!),
    ]),
    ...addTo(J, 16), ...op.br(0),
    ...op.end, ...op.end,
    // Horizontal sums.
    ...each((row) => [
      ...op.get(ACC[row]!), ...op.f32x4ExtractLane(0), ...op.get(ACC[row]!), ...op.f32x4ExtractLane(1), ...op.f32Add,
      ...op.get(ACC[row]!), ...op.f32x4ExtractLane(2), ...op.get(ACC[row]!), ...op.f32x4ExtractLane(3), ...op.f32Add,
      ...op.f32Add, ...op.set(SUM[row]!),
    ]),
    // Scalar tail: dims % 4 floats.
    ...op.block, ...op.loop,
    ...op.get(J), ...op.get(ROW_BYTES), ...op.i32GeU, ...op.brIf(1),
    ...op.get(QUERY), ...op.get(J), ...op.i32Add, ...op.f32Load(0), ...op.set(QUERY_VALUE),
    ...each((row) => [
      ...op.get(SUM[row]!),
      ...op.get(ROW_AT[row]!), ...op.get(J), ...op.i32Add, ...op.f32Load(0),
      ...op.get(QUERY_VALUE), ...op.f32Mul, ...op.f32Add, ...op.set(SUM[row]!),
    ]),
    ...addTo(J, 4), ...op.br(0),
    ...op.end, ...op.end,
    ...each((row) => [...op.get(OUT), ...op.get(SUM[row]!), ...op.f32Store(row * 4)]),
    ...addTo(OUT, rows * 4),
    ...op.get(ROW_AT[rows - 1]!), ...op.get(ROW_BYTES), ...op.i32Add, ...op.set(ROWS),
  ];
}

function kernelBody(): number[] {
  const locals = [
    ...uleb(4),
    ...uleb(8), I32, // outEnd, out4End, rowBytes, end4, j, row1, row2, row3
    ...uleb(5), V128, // acc0..acc3, query lanes
    ...uleb(4), F32, // sum0..sum3
    ...uleb(1), F32, // query value (tail)
  ];
  const code = [
    ...op.get(OUT), ...op.get(ROW_COUNT), ...op.i32Const(2), ...op.i32Shl, ...op.i32Add, ...op.set(OUT_END),
    ...op.get(OUT), ...op.get(ROW_COUNT), ...op.i32Const(-4), ...op.i32And, ...op.i32Const(2), ...op.i32Shl, ...op.i32Add, ...op.set(OUT4_END),
    ...op.get(DIMS), ...op.i32Const(2), ...op.i32Shl, ...op.set(ROW_BYTES),
    ...op.get(DIMS), ...op.i32Const(-4), ...op.i32And, ...op.i32Const(2), ...op.i32Shl, ...op.set(END4),
    // Groups of four rows: four independent accumulator chains, and four pages streamed at once.
    ...op.block, ...op.loop,
    ...op.get(OUT), ...op.get(OUT4_END), ...op.i32GeU, ...op.brIf(1),
    ...scoreRows(4),
    ...op.br(0),
    ...op.end, ...op.end,
    // The last rowCount % 4 rows, one by one.
    ...op.block, ...op.loop,
    ...op.get(OUT), ...op.get(OUT_END), ...op.i32GeU, ...op.brIf(1),
    ...scoreRows(1),
    ...op.br(0),
    ...op.end, ...op.end,
    ...op.end, // function
  ];
  const body = [...locals, ...code];
  return [...uleb(body.length), ...body];
}

/** The module's bytes (see the WAT above). Exported for the tests. */
export function kernelModuleBytes(): Uint8Array<ArrayBuffer> {
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    // type 0: (i32 i32 i32 i32 i32) → ()
    ...section(1, [...uleb(1), 0x60, ...uleb(5), I32, I32, I32, I32, I32, ...uleb(0)]),
    // import env.memory: limits flag 0x03 = has maximum + shared, min 1, max 65536 pages
    ...section(2, [...uleb(1), ...name('env'), ...name('memory'), 0x02, 0x03, ...uleb(1), ...uleb(65536)]),
    ...section(3, [...uleb(1), ...uleb(0)]),
    ...section(7, [...uleb(1), ...name('scores'), 0x00, ...uleb(0)]),
    ...section(10, [...uleb(1), ...kernelBody()]),
  ];
  return new Uint8Array(bytes);
}

// ---------------------------------------------------------------- runtime

/** A `WebAssembly.Memory` (the project's `lib` has no DOM/WebAssembly types, so the slice used here is declared). */
export interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
}

type WasmModule = object;

interface WasmApi {
  validate(bytes: Uint8Array<ArrayBuffer>): boolean;
  readonly Module: new (bytes: Uint8Array<ArrayBuffer>) => WasmModule;
  readonly Instance: new (module: WasmModule, imports: Record<string, Record<string, unknown>>) => { readonly exports: Record<string, unknown> };
  readonly Memory: new (descriptor: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
}

const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;

let compiled: WasmModule | null | undefined;

/** The compiled kernel, or null when this runtime lacks WebAssembly SIMD or shared memories. */
function kernelModule(): WasmModule | null {
  if (compiled === undefined) {
    compiled = null;
    try {
      const bytes = kernelModuleBytes();
      if (wasm !== undefined && wasm.validate(bytes)) compiled = new wasm.Module(bytes);
    } catch {
      compiled = null;
    }
  }
  return compiled;
}

/** Whether dense scans can use the SIMD kernel in this runtime. */
export function simdAvailable(): boolean {
  return kernelModule() !== null;
}

const align16 = (bytes: number) => Math.ceil(bytes / 16) * 16;

/** Scratch bytes after the embeddings: the query row, then one block of scores. */
function scratchBytes(dimensions: number): number {
  return align16(dimensions * 4) + SCORE_BLOCK_ROWS * 4;
}

export interface EmbeddingStorage {
  /** rows × dimensions floats, zeroed; a view at offset 0 of `memory` when there is one. */
  readonly embeddings: Float32Array;
  /** The shared WebAssembly memory holding `embeddings` (and the kernel's scratch), if SIMD is available and it fits. */
  readonly memory?: WasmMemory;
}

/**
 * Room for a rows × dimensions embedding matrix: inside a shared WebAssembly memory (so the SIMD
 * kernel can scan it in place, and it crosses threads without a copy) when this runtime has SIMD
 * and the matrix fits in 4 GiB, otherwise a plain `Float32Array`.
 */
export function allocateEmbeddings(rows: number, dimensions: number): EmbeddingStorage {
  const length = rows * dimensions;
  if (rows > 0 && dimensions > 0 && kernelModule() !== null) {
    const pages = Math.ceil((align16(length * 4) + scratchBytes(dimensions)) / PAGE_BYTES);
    if (pages <= MAX_PAGES) {
      try {
        const memory = new wasm!.Memory({ initial: pages, maximum: pages, shared: true });
        return { embeddings: new Float32Array(memory.buffer, 0, length), memory };
      } catch {
        // Out of address space or memory: the plain array below still works, at JavaScript speed.
      }
    }
  }
  return { embeddings: new Float32Array(length) };
}

type ScoresFunction = (rowsPtr: number, rowCount: number, dims: number, queryPtr: number, outPtr: number) => void;

/**
 * The kernel instantiated over one memory, for the matrix at its start. Created once per store,
 * in O(1) (no copy). Single-threaded use only: the scratch region is shared by all calls.
 */
export class DenseDotKernel {
  readonly dimensions: number;
  /** Rows the matrix had when the kernel was created; scans may cover fewer (after deletes), never more. */
  readonly capacityRows: number;
  readonly #scores: ScoresFunction;
  readonly #queryOffset: number;
  readonly #scoresOffset: number;
  readonly #query: Float32Array;
  readonly #blockScores: Float32Array;
  readonly #buffer: ArrayBufferLike;

  private constructor(memory: WasmMemory, dimensions: number, capacityRows: number, scores: ScoresFunction) {
    this.dimensions = dimensions;
    this.capacityRows = capacityRows;
    this.#scores = scores;
    this.#queryOffset = align16(capacityRows * dimensions * 4);
    this.#scoresOffset = this.#queryOffset + align16(dimensions * 4);
    this.#query = new Float32Array(memory.buffer, this.#queryOffset, dimensions);
    this.#blockScores = new Float32Array(memory.buffer, this.#scoresOffset, SCORE_BLOCK_ROWS);
    this.#buffer = memory.buffer;
  }

  /**
   * A kernel over `memory` for `embeddings`, or undefined (use the JavaScript scan) when SIMD is
   * unavailable or `embeddings` is not a matrix at the start of `memory` with scratch room after it.
   */
  static over(memory: WasmMemory | undefined, embeddings: Float32Array, dimensions: number): DenseDotKernel | undefined {
    const module = kernelModule();
    if (!module || wasm === undefined || !(memory instanceof wasm.Memory)) return undefined;
    const buffer = memory.buffer;
    // The view must be at offset 0 of this very memory (a structured clone of a table keeps the two
    // together: the received view's buffer is the received memory's buffer).
    if (embeddings.buffer !== buffer || embeddings.byteOffset !== 0) return undefined;
    if (!Number.isInteger(dimensions) || dimensions <= 0 || embeddings.length % dimensions !== 0) return undefined;
    const rows = embeddings.length / dimensions;
    if (align16(embeddings.byteLength) + scratchBytes(dimensions) > buffer.byteLength) return undefined;
    try {
      const instance = new wasm.Instance(module, { env: { memory } });
      return new DenseDotKernel(memory, dimensions, rows, instance.exports['scores'] as ScoresFunction);
    } catch {
      return undefined;
    }
  }

  /** Whether `embeddings` (`dimensions` wide) is this kernel's matrix, or a prefix of it (after deletes). */
  covers(embeddings: Float32Array, dimensions: number): boolean {
    return (
      dimensions === this.dimensions &&
      embeddings.byteOffset === 0 &&
      embeddings.length <= this.capacityRows * dimensions &&
      embeddings.buffer === this.#buffer
    );
  }

  /** Copies the query into the kernel's scratch (converting to float32, exactly as the rows are stored). */
  setQuery(query: ArrayLike<number>): void {
    this.#query.set(query);
  }

  /**
   * Scores rows [firstRow, firstRow + count) (count ≤ SCORE_BLOCK_ROWS) against the last
   * `setQuery`; returns a view of the scores, valid until the next call.
   */
  scoreBlock(firstRow: number, count: number): Float32Array {
    this.#scores(firstRow * this.dimensions * 4, count, this.dimensions, this.#queryOffset, this.#scoresOffset);
    return this.#blockScores;
  }
}
