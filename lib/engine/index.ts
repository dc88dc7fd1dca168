// Policy evaluation: policies x resources (or images) -> verdicts and patches.
export { createEngine } from './evaluate.ts';
export { getFailureAction } from './failure-action.ts';
export type { Engine, EngineOptions, RequestInfo } from './evaluate.ts';
export type { ResourceSelection, SelectedRule } from './selection.ts';
export type { Evaluation, EvaluationStats, ImageResult, ResultStatus, RuleResult } from './result.ts';
export { matchResources, type ResourceInfo, ruleSelects, selectorMatches, toResourceInfo } from './match.ts';
export type { ResultCache } from './verify-image.ts';
