// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

// CBV 2.0 vocabulary codes of this registry: the code of a business step or disposition is its
// number on these lines. This is the one definition: scripts/export-artifacts.js reads these
// lines to generate the SDK's table (packages/sdk/src/core/cbv.generated.ts), and the tests check
// it against ProvenanceRegistry's STEP_COUNT, DISPOSITION_COUNT and stepRoles. Append only: a code,
// once used on chain, keeps its meaning.
//
// cbv:bizStep 0 commissioning
// cbv:bizStep 1 inspecting
// cbv:bizStep 2 sampling
// cbv:bizStep 3 packing
// cbv:bizStep 4 unpacking
// cbv:bizStep 5 repackaging
// cbv:bizStep 6 creating_class_instance
// cbv:bizStep 7 storing
// cbv:bizStep 8 holding
// cbv:bizStep 9 shipping
// cbv:bizStep 10 departing
// cbv:bizStep 11 arriving
// cbv:bizStep 12 receiving
// cbv:bizStep 13 loading
// cbv:bizStep 14 unloading
// cbv:bizStep 15 transporting
// cbv:bizStep 16 retail_selling
// cbv:bizStep 17 destroying
// cbv:bizStep 18 other
//
// cbv:disposition 0 active
// cbv:disposition 1 conformant
// cbv:disposition 2 non_conformant
// cbv:disposition 3 in_progress
// cbv:disposition 4 in_transit
// cbv:disposition 5 container_closed
// cbv:disposition 6 sellable_accessible
// cbv:disposition 7 sellable_not_accessible
// cbv:disposition 8 retail_sold
// cbv:disposition 9 recalled
// cbv:disposition 10 destroyed
// cbv:disposition 11 damaged
// cbv:disposition 12 expired

/**
 * @title IProvenanceRegistry
 * @notice Vocabulary of the Proofmark provenance registry for geographical-indication (GI)
 * products: products, per-product roles, producer licences with quotas, lots with quantities,
 * mass-balanced split / merge / transform / pack, supply-chain events in a per-lot hash chain,
 * recalls and issued-code counts.
 * @dev Quantities are integers in the product's base unit (e.g. grams). Business steps and
 * dispositions are small integer codes of the GS1 CBV 2.0 vocabulary, defined once below this
 * comment (the `cbv:` lines); the SDK's `BIZ_STEPS` / `DISPOSITIONS` are generated from them at
 * build time, and {stepRoles} says who may record each step.
 *
 * Every change of state emits a log that carries what an indexer needs, so the complete state
 * can be rebuilt from logs alone. Each lot keeps one storage word, its hash-chain head:
 *
 *   eventDigest = keccak256(abi.encode(lot, actor, step, disposition, eventTime, location, document))
 *   head'       = keccak256(abi.encode(head, eventDigest))            (head of a new lot: 0)
 *
 * where `document` is the salted commitment of the off-chain EPCIS event document. A trace read
 * from {LotEventRecorded} logs is therefore checked against {headOf}.
 */
interface IProvenanceRegistry {
    /// @notice Life-cycle state of a lot.
    enum LotStatus {
        None, // the lot does not exist
        Active, // it has quantity left and accepts events and operations
        Consumed, // all of its quantity went into other lots
        Recalled // recalled by the product's admin or an inspector; nothing more is accepted
    }

    /// @notice How a lot came to be.
    enum LotOrigin {
        Harvest, // commissioned by a licensed producer against their quota
        Split, // part of a parent lot
        Merge, // the whole remaining quantity of several lots of the same product
        Transform, // processed from input lots, output ≤ inputs × the product's maximum yield
        Pack // N packages of size S taken from a parent lot
    }

    /**
     * @notice A GI product as registered.
     * @param maxYieldBps Maximum processing yield in basis points (1..10,000): a transform's output
     * never exceeds its inputs × maxYieldBps / 10,000.
     * @param standard Digest (or CID digest) of the product's standard / specification document.
     * @param name Name in the original language, e.g. "砀山酥梨".
     * @param nameEn English name, e.g. "Dangshan Su Pear".
     * @param giNumber GI registration number, e.g. "AGI00001".
     * @param region Region of origin, e.g. "安徽省砀山县".
     * @param unit Base unit of every quantity of this product, e.g. "g".
     */
    struct Product {
        uint16 maxYieldBps;
        bytes32 standard;
        string name;
        string nameEn;
        string giNumber;
        string region;
        string unit;
    }

    /**
     * @notice Arguments of {createProduct}: the product's fields plus its first admin.
     * @param admin The account that receives the product's admin role.
     */
    struct ProductInput {
        address admin;
        uint16 maxYieldBps;
        bytes32 standard;
        string name;
        string nameEn;
        string giNumber;
        string region;
        string unit;
    }

    /**
     * @notice A lot; one storage slot.
     * @param product The product the lot is of.
     * @param status Its {LotStatus}.
     * @param origin Its {LotOrigin}.
     * @param quantity Quantity the lot was created with, in the product's base unit.
     * @param remaining Quantity not yet split, merged, transformed or packed into other lots.
     * @param packages Number of packages of a packed lot (0 for unpacked lots).
     * @param issuedCodes Number of scan codes issued for the lot's packages (≤ packages).
     */
    // solhint-disable-next-line gas-struct-packing -- 30 bytes: one slot (the linter sizes enums wrongly)
    struct Lot {
        uint32 product;
        LotStatus status;
        LotOrigin origin;
        uint64 quantity;
        uint64 remaining;
        uint32 packages;
        uint32 issuedCodes;
    }

    /**
     * @notice A producer's licence for one product and season.
     * @param quota Quantity the producer may harvest in the season (0 means no licence).
     * @param harvested Quantity harvested so far.
     */
    struct Licence {
        uint64 quota;
        uint64 harvested;
    }

    /**
     * @notice When, where and which document: the common fields of every event a lot operation records.
     * @param eventTime When the event happened (seconds since the epoch, as in the document).
     * @param location keccak-256 of the location's identifier (e.g. an SGLN URI or a plot id).
     * @param document Salted commitment of the EPCIS event document's CBV 2.0 hash.
     */
    struct Record {
        uint40 eventTime;
        bytes32 location;
        bytes32 document;
    }

    /**
     * @notice One supply-chain event on a lot, for {recordEvent} and {recordEvents}.
     * @param lot The lot the event is about.
     * @param step CBV 2.0 business step code (see {stepRoles}).
     * @param disposition CBV 2.0 disposition code (see the SDK's `DISPOSITIONS`).
     * @param eventTime When the event happened (seconds since the epoch).
     * @param location keccak-256 of the location's identifier.
     * @param document Salted commitment of the EPCIS event document's CBV 2.0 hash.
     */
    struct EventInput {
        uint64 lot;
        uint8 step;
        uint8 disposition;
        uint40 eventTime;
        bytes32 location;
        bytes32 document;
    }

    /**
     * @notice Emitted when a registrar creates a product.
     * @param product The new product id.
     * @param admin Its first admin.
     * @param registrar The registrar that created it.
     * @param info The product's fields.
     */
    event ProductCreated(uint32 indexed product, address indexed admin, address indexed registrar, Product info);

    /**
     * @notice Emitted when an account receives a role of a product.
     * @param product The product.
     * @param role The role (0 admin, 1 producer, 2 inspector, 3 processor, 4 logistics, 5 retailer).
     * @param account The account that received it.
     * @param sender The account that granted it.
     */
    event ProductRoleGranted(uint32 indexed product, uint8 indexed role, address indexed account, address sender);

    /**
     * @notice Emitted when an account loses a role of a product (revoked or renounced).
     * @param product The product.
     * @param role The role.
     * @param account The account that lost it.
     * @param sender The account that revoked it (the account itself when renounced).
     */
    event ProductRoleRevoked(uint32 indexed product, uint8 indexed role, address indexed account, address sender);

    /**
     * @notice Emitted when a product admin sets a producer's quota for a season.
     * @param product The product.
     * @param producer The licensed producer.
     * @param season The season (e.g. the year 2026).
     * @param quota The new quota (replaces any previous one; harvested quantities are kept).
     */
    event LicenceGranted(uint32 indexed product, address indexed producer, uint16 indexed season, uint64 quota);

    /**
     * @notice Emitted when a licensed producer harvests a new lot (it consumes their quota).
     * @param lot The new lot.
     * @param product Its product.
     * @param producer The producer (also the actor of the lot's first event).
     * @param season The licence season charged.
     * @param quantity The harvested quantity.
     */
    event LotHarvested(uint64 indexed lot, uint32 indexed product, address indexed producer, uint16 season, uint64 quantity);

    /**
     * @notice Emitted when a lot is made from other lots (split, merge, transform, pack).
     * @param lot The new lot.
     * @param product Its product.
     * @param actor The account that made it.
     * @param origin How it was made.
     * @param quantity Its quantity.
     * @param packages Number of packages (pack only, else 0).
     * @param parents The lots it was made from.
     * @param amounts The quantity taken from each parent (same order as `parents`).
     */
    event LotDerived(
        uint64 indexed lot,
        uint32 indexed product,
        address indexed actor,
        LotOrigin origin,
        uint64 quantity,
        uint32 packages,
        uint64[] parents,
        uint64[] amounts
    );

    /**
     * @notice Emitted for every event appended to a lot's hash chain (including the events of lot
     * operations: harvest, split, merge, transform, pack, recall).
     * @param lot The lot.
     * @param actor The account that recorded it.
     * @param step CBV 2.0 business step code.
     * @param disposition CBV 2.0 disposition code.
     * @param eventTime When the event happened.
     * @param location keccak-256 of the location's identifier.
     * @param document Salted commitment of the event document.
     */
    event LotEventRecorded(
        uint64 indexed lot,
        address indexed actor,
        uint8 step,
        uint8 disposition,
        uint40 eventTime,
        bytes32 location,
        bytes32 document
    );

    /**
     * @notice Emitted when a lot is recalled. A trace treats the lot's descendants as recalled too.
     * @param lot The recalled lot.
     * @param actor The admin or inspector that recalled it.
     * @param reason Why, in words.
     */
    event LotRecalled(uint64 indexed lot, address indexed actor, string reason);

    /**
     * @notice Emitted when scan codes are issued for packages of a packed lot.
     * @param lot The packed lot.
     * @param actor The account that issued them.
     * @param count How many codes this call issued.
     * @param issuedTotal How many codes the lot has now.
     * @param serialSetCommitment Commitment (e.g. Merkle root) of the issued serials.
     */
    event CodesIssued(uint64 indexed lot, address indexed actor, uint32 count, uint32 issuedTotal, bytes32 serialSetCommitment);

    /// @notice Thrown when an account or admin argument is the zero address.
    error ProvenanceZeroAddress();

    /// @notice Thrown when a product's maximum yield is not within 1..10,000 basis points.
    error ProvenanceInvalidYield(uint16 maxYieldBps);

    /// @notice Thrown when a product id does not name a registered product.
    error ProvenanceProductUnknown(uint32 product);

    /// @notice Thrown when a role code is not one of the six product roles.
    error ProvenanceRoleUnknown(uint8 role);

    /// @notice Thrown when `account` holds none of the product roles in the bit mask `roles` (bit i = role i).
    error ProvenanceRoleMissing(uint32 product, address account, uint8 roles);

    /// @notice Thrown when a licence's new quota is below what was already harvested under it.
    error ProvenanceQuotaBelowHarvested(uint32 product, address producer, uint16 season, uint64 quota, uint64 harvested);

    /// @notice Thrown when a producer harvests without a licence for the product and season.
    error ProvenanceLicenceMissing(uint32 product, address producer, uint16 season);

    /// @notice Thrown when a harvest exceeds what is left of the producer's quota.
    error ProvenanceQuotaExceeded(uint32 product, address producer, uint16 season, uint64 requested, uint64 available);

    /// @notice Thrown when a quantity (or a package count or size) is zero.
    error ProvenanceQuantityZero();

    /// @notice Thrown when a lot id does not name an existing lot.
    error ProvenanceLotUnknown(uint64 lot);

    /// @notice Thrown when a lot is consumed or recalled and so accepts no event or operation.
    error ProvenanceLotNotActive(uint64 lot, LotStatus status);

    /// @notice Thrown when a recalled lot is recalled again.
    error ProvenanceLotAlreadyRecalled(uint64 lot);

    /// @notice Thrown when a packed lot is split, merged, transformed or packed again.
    error ProvenanceLotPacked(uint64 lot);

    /// @notice Thrown when codes are issued for a lot that was not made by {pack}.
    error ProvenanceLotNotPacked(uint64 lot);

    /// @notice Thrown when an operation takes more than a lot's remaining quantity.
    error ProvenanceInsufficientQuantity(uint64 lot, uint256 requested, uint64 remaining);

    /// @notice Thrown when lots of different products are merged or transformed together.
    error ProvenanceProductMismatch(uint64 lot, uint32 expected, uint32 actual);

    /// @notice Thrown when a transform's output exceeds its input × the product's maximum yield.
    error ProvenanceYieldExceeded(uint64 output, uint256 input, uint16 maxYieldBps);

    /// @notice Thrown when issuing `requested` codes would exceed the lot's packages; `available` are left.
    error ProvenanceCodesExceeded(uint64 lot, uint32 requested, uint32 available);

    /// @notice Thrown when a business step code is not in the table.
    error ProvenanceUnknownStep(uint8 step);

    /// @notice Thrown when a disposition code is not in the table.
    error ProvenanceUnknownDisposition(uint8 disposition);

    /// @notice Thrown when a list argument is empty or too short (`minimum` entries are needed).
    error ProvenanceTooFewItems(uint256 count, uint256 minimum);

    /// @notice Thrown when two list arguments that go together have different lengths.
    error ProvenanceLengthMismatch(uint256 expected, uint256 actual);

    /**
     * @notice Registers a GI product and gives `input.admin` the product's admin role.
     * @dev Only accounts with `REGISTRAR_ROLE`. Emits {ProductCreated} and {ProductRoleGranted}.
     * @param input The product's fields and first admin.
     * @return product The new product id (1, 2, 3, …).
     */
    function createProduct(ProductInput calldata input) external returns (uint32 product);

    /**
     * @notice Sets `producer`'s harvest quota of `product` for `season`.
     * @dev Only the product's admins. Emits {LicenceGranted}.
     * @param product The product.
     * @param producer The producer (needs the producer role to harvest).
     * @param season The season, e.g. 2026.
     * @param quota The quota in the product's base unit (0 withdraws a licence not yet used).
     */
    function grantLicence(uint32 product, address producer, uint16 season, uint64 quota) external;

    /**
     * @notice Commissions a new lot harvested by the caller, charged to their licence.
     * @dev Only the product's producers. Records a `commissioning` / `active` event.
     * Emits {LotHarvested} and {LotEventRecorded}.
     * @param product The product.
     * @param season The licence season charged.
     * @param quantity The harvested quantity.
     * @param record Event time, location and document commitment of the harvest.
     * @return lot The new lot id.
     */
    function harvest(uint32 product, uint16 season, uint64 quantity, Record calldata record) external returns (uint64 lot);

    /**
     * @notice Splits `quantities` off `lot` into new lots (ids consecutive from `first`).
     * @dev Producers, processors and admins of the lot's product. Σ quantities ≤ remaining.
     * Records a `repackaging` event on the parent and each child.
     * @param lot The parent lot.
     * @param quantities The quantity of each new lot.
     * @param record Event time, location and document commitment.
     * @return first The id of the first new lot.
     */
    function split(uint64 lot, uint64[] calldata quantities, Record calldata record) external returns (uint64 first);

    /**
     * @notice Merges the whole remaining quantity of two or more lots of one product into a new lot.
     * @dev Producers, processors and admins. The inputs become consumed. Records a `repackaging` event.
     * @param lots The input lots.
     * @param record Event time, location and document commitment.
     * @return merged The new lot id.
     */
    function merge(uint64[] calldata lots, Record calldata record) external returns (uint64 merged);

    /**
     * @notice Processes `amounts` of `lots` into a new lot of `output`; output ≤ Σ amounts × maxYieldBps / 10,000.
     * @dev Processors and admins. Records a `creating_class_instance` event on inputs and output.
     * @param lots The input lots (same product).
     * @param amounts The quantity taken from each input.
     * @param output The output quantity.
     * @param record Event time, location and document commitment.
     * @return out The new lot id.
     */
    function transform(uint64[] calldata lots, uint64[] calldata amounts, uint64 output, Record calldata record)
        external
        returns (uint64 out);

    /**
     * @notice Packs `packages` packages of `size` from `lot` into a new packed lot; packages × size ≤ remaining.
     * @dev Processors and admins. Records a `packing` / `container_closed` event on both lots.
     * @param lot The lot to pack from.
     * @param packages Number of packages.
     * @param size Quantity per package.
     * @param record Event time, location and document commitment.
     * @return packed The new packed lot id.
     */
    function pack(uint64 lot, uint32 packages, uint64 size, Record calldata record) external returns (uint64 packed);

    /**
     * @notice Appends one supply-chain event to a lot's hash chain.
     * @dev The caller needs a role fitting the step ({stepRoles}); admins may record any step.
     * Stores only the new chain head; the fields are in {LotEventRecorded}.
     * @param input The event.
     */
    function recordEvent(EventInput calldata input) external;

    /**
     * @notice Appends many events (to one or many lots) in one transaction, in order.
     * @dev Same checks as {recordEvent} for each; all or nothing.
     * @param inputs The events.
     */
    function recordEvents(EventInput[] calldata inputs) external;

    /**
     * @notice Recalls a lot. A trace treats its descendants as recalled.
     * @dev Admins and inspectors of the lot's product. Records a `holding` / `recalled` event.
     * Emits {LotRecalled}.
     * @param lot The lot.
     * @param reason Why, in words.
     * @param record Event time, location and document commitment.
     */
    function recall(uint64 lot, string calldata reason, Record calldata record) external;

    /**
     * @notice Counts `count` more scan codes issued for the packages of a packed lot; never more than its packages.
     * @dev Processors and admins. Emits {CodesIssued}.
     * @param lot The packed lot.
     * @param count Number of codes issued now.
     * @param serialSetCommitment Commitment of the issued serials (e.g. their Merkle root).
     */
    function issueCodes(uint64 lot, uint32 count, bytes32 serialSetCommitment) external;

    /**
     * @notice The role id of `role` for `product`, for AccessControl's `grantRole` / `revokeRole` / `hasRole`.
     * @dev bytes32("proofmark.product.role") | product << 8 | role: decodable, no storage.
     * @param product The product.
     * @param role 0 admin, 1 producer, 2 inspector, 3 processor, 4 logistics, 5 retailer.
     * @return The role id.
     */
    function productRoleId(uint32 product, uint8 role) external pure returns (bytes32);

    /**
     * @notice Which product roles may record business step `step` (bit i set = role i); admins always may.
     * @param step The business step code.
     * @return roles The bit mask of roles.
     */
    function stepRoles(uint8 step) external pure returns (uint8 roles);

    /**
     * @notice A registered product.
     * @param product The product id.
     * @return The product's fields (reverts with {ProvenanceProductUnknown} if there is none).
     */
    function productOf(uint32 product) external view returns (Product memory);

    /**
     * @notice A lot (all zero with status `None` if it does not exist).
     * @param lot The lot id.
     * @return The lot.
     */
    function lotOf(uint64 lot) external view returns (Lot memory);

    /**
     * @notice The lots `lot` was made from (empty for harvested lots).
     * @param lot The lot id.
     * @return The parent lot ids.
     */
    function parentsOf(uint64 lot) external view returns (uint64[] memory);

    /**
     * @notice The head of `lot`'s event hash chain (0 if the lot has no event).
     * @param lot The lot id.
     * @return The head.
     */
    function headOf(uint64 lot) external view returns (bytes32);

    /**
     * @notice A producer's licence.
     * @param product The product.
     * @param producer The producer.
     * @param season The season.
     * @return The quota and harvested quantity.
     */
    function licenceOf(uint32 product, address producer, uint16 season) external view returns (Licence memory);

    /**
     * @notice How many products and lots exist (ids are 1..count).
     * @return products Number of products.
     * @return lots Number of lots.
     */
    function counts() external view returns (uint32 products, uint64 lots);

    /**
     * @notice The semantic version of this registry's behaviour.
     * @return The version string, e.g. "1.0.0".
     */
    function version() external pure returns (string memory);
}
