// Policy evaluation: policies x resources (or images) -> verdicts and patches.
export { createEngine } from './evaluate.ts';
export { getFailureAction } from './failure-action.ts';
export type { EngineOptions, RequestInfo } from './evaluate.ts';
export type { Evaluation, ImageResult, RuleResult, ResultStatus, EvaluationStats } from './result.ts';
export { matchResources, ruleSelects, selectorMatches, toResourceInfo, type ResourceInfo } from './match.ts';
export type { ResultCache } from './verify-image.ts';
