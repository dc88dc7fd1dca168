// Policy evaluation: policies x resources (or images) -> verdicts and patches.
export { createEngine } from './evaluate.ts';
export type { Evaluation, EngineOptions, ImageResult, RuleResult, RequestInfo, ResultStatus, EvaluationStats } from './evaluate.ts';
export { matchResources, ruleSelects, selectorMatches, toResourceInfo, type ResourceInfo } from './match.ts';
export type { ResultCache } from './verify-image.ts';
