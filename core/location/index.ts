export * from './geofence.js';
export * from './site-location-policy.js';
export * from './mobile-evidence.js';
export * from './verify-evidence.js';
export * from './evidence-summary.js';
