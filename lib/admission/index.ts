// Admission handling without network: AdmissionReview parsing and responses, image
// extraction, JSON patches and verification annotations, Kyverno-shaped messages.

export * from './types.ts';
export * from './review.ts';
export * from './imageinfo.ts';
export * from './images.ts';
export * from './patch.ts';
export * from './record.ts';
export * from './messages.ts';
export { toGoYaml, yamlKeyLess } from './yaml.ts';
export type { YamlStringMap } from './yaml.ts';
export { escapePointerSegment, parseJsonPointer, toJsonPointer } from './pointer.ts';
